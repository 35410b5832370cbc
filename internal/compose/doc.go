// Package compose holds the checks of docker-compose.yml that need no Docker engine: the file
// parses, what the project builds exists, ports do not clash and images match versions.env.
package compose
