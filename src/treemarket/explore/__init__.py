"""``treemarket explore``: a local, offline web page to load, edit, solve and see models.

The server (:mod:`treemarket.explore.server`) listens on 127.0.0.1 only and refuses requests
without its token or from another host or origin; the page's assets ship in the package
(``static/``); the JSON it exchanges comes from :mod:`treemarket.explore.api`; solves run in
their own processes (:mod:`treemarket.explore.jobs`) so that they can be cancelled.
"""

from treemarket.explore.server import create_app, page_url

__all__ = ["create_app", "page_url"]
