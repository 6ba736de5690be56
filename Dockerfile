# Sesame: a static, non-root image. Build: docker build -t sesame .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/sesame ./cmd/sesame \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sesame /usr/local/bin/sesame
COPY --from=build --chown=nonroot:nonroot /out/data /data
USER nonroot
ENV SESAME_LISTEN=:8080 SESAME_DATA_DIR=/data SESAME_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["/usr/local/bin/sesame", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/sesame"]
CMD ["serve"]
