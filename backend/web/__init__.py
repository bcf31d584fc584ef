"""The web layer: the Starlette app, routes, middleware, templating, htmx helpers, error
pages and the request handlers in `views/`."""
