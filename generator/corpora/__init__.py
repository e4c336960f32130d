"""Published corpora as Scaper source libraries: registry, download, safe extraction, fetchers."""
