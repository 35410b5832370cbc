# One image for erpsync's binaries: worker, starter, erpsim, storefront, and probe (the
# healthchecks' HTTP check). docker-compose.yml picks the command. Go version: versions.env.
# The runtime image is distroless (no shell, no package manager) and runs as its non-root user
# (nonroot, uid 65532). `docker build --build-arg VERSION=v1.2.3 .` sets what --version says.
ARG GO_VERSION=1.26
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/erpsync/erpsync/internal/buildinfo.Version=${VERSION}" \
      -o /out/ ./worker ./starter ./cmd/... \
    && mkdir -p /data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
# The simulator's database lives here (a volume in docker-compose.yml).
COPY --from=build --chown=65532:65532 /data /data
USER 65532:65532
CMD ["worker"]
