# The aws-auth binary, for the admission webhook (`aws-auth webhook serve`)
# and anything else run in a cluster. Non-root, nothing but the binary.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p aws-auth-cli --bin aws-auth

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/aws-auth /usr/local/bin/aws-auth
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/aws-auth"]
CMD ["webhook", "serve", "--cert", "/tls/tls.crt", "--key", "/tls/tls.key"]
