"""Reports people read: PDF (and xlsx) documents with charts over forecasts and supplier risk."""
