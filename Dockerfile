# SPDX-License-Identifier: Apache-2.0
# Builds skiff's programs on Debian 12 and ships them in a slim runtime image.
# The agent needs the host's cgroups, /run, /var/lib/skiff and privileges:
#   docker run --privileged --pid=host --net=host -v /sys/fs/cgroup:/sys/fs/cgroup \
#     -v /var/lib/skiff:/var/lib/skiff -v /run/skiff:/run/skiff skiff skiff-agent ...
FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps scripts/install-deps
RUN ./scripts/install-deps
COPY . .
RUN make -j"$(nproc)" release

FROM debian:bookworm-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
        libjansson4 libseccomp2 libcap2 libcgroup2 libarchive13 libcurl4 libmicrohttpd12 \
        libsqlite3-0 libssl3 containernetworking-plugins iproute2 iptables ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/release/bin/ /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/skiff-runtime"]
