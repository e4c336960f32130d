"""The practitioner's tools: collections of recordings, ``query``, ``detect``, cross-validation
over labelled recordings and the annotation app (``annotate``: session, routes, static page)."""
