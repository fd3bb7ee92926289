"""The HTTP edge: a FastAPI app over `rag/` (`api.app.create_app`), served by `rag serve`."""
