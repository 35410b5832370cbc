// Package compose holds the checks of docker-compose.yml that need no Docker engine: the file
// parses, what the project builds exists, ports do not clash, images match versions.env, only
// the storefront is published (on 127.0.0.1), every secret is required, and the worker and the
// storefront use API keys of their own instead of the elastic superuser.
package compose
