"""Exports of the list endpoints' data as CSV, Excel and PDF, streamed with constant memory."""
