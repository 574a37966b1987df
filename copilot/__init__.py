"""The copilot: retrieval over tenant documents, live-data tools and the self-hosted LLM."""
