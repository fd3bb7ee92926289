"""The bundled news articles, shipped as package data so an installed `rag index` finds them."""
