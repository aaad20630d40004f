"""The workspace's own public page (``/@<slug>``) and its Atom, RSS and JSON feeds.

The ``page`` network's connector (``socialdesk.networks.page``) writes a ``PageEntry`` when
the publishing engine publishes a delivery to a page channel; this app shows those entries to
anyone, without a login, and nothing else of the workspace.
"""
