// Package compose holds the checks of docker-compose.yml and the image that need no Docker
// engine: the file parses, what the project builds exists, ports do not clash, images match
// versions.env, only the storefront is published (on 127.0.0.1), every secret is required, the
// worker and the storefront use API keys of their own, Temporal runs from temporalio/server
// after an admin-tools schema job, every service has a healthcheck, the worker's metrics are on
// the compose network and Docker waits out its stop timeout, and the image is distroless,
// non-root and built without .git or var/.
package compose
