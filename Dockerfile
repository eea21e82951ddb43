# cacheform image for CI jobs (GitLab, Kubernetes): cacheform and git on Debian bookworm slim,
# running as an unprivileged user. Build from a checkout of cacheform:
#   docker build -t registry.example.com/platform/cacheform:0.1.0 .
# The build stage needs the .git directory or a release tarball's VERSION file for the
# version `cacheform version` reports.

FROM debian:bookworm-slim AS build
RUN apt-get update -q \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		ca-certificates gcc git libc6-dev make pkg-config \
		libyaml-dev libcurl4-openssl-dev libjson-c-dev libssl-dev libgit2-dev \
		libmicrohttpd-dev libpcre2-dev \
	&& rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make -j2 && make install DESTDIR=/out PREFIX=/usr/local

FROM debian:bookworm-slim
# Runtime libraries of cacheform only (no compiler, no -dev packages, no fakecdn).
RUN apt-get update -q \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		ca-certificates git libcurl4 libgit2-1.5 libjson-c5 libpcre2-8-0 libssl3 libyaml-0-2 \
	&& rm -rf /var/lib/apt/lists/* \
	&& useradd --uid 10001 --create-home --shell /usr/sbin/nologin cacheform
COPY --from=build /out/usr/local/bin/cacheform /usr/local/bin/cacheform
COPY --from=build /out/usr/local/share/man/man1/cacheform.1 /usr/local/share/man/man1/cacheform.1
COPY --from=build /out/usr/local/share/cacheform/cacheform.schema.json /usr/local/share/cacheform/cacheform.schema.json
USER 10001:10001
WORKDIR /home/cacheform
ENV NO_COLOR=1
ENTRYPOINT []
CMD ["cacheform", "help"]
