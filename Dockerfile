# SPDX-License-Identifier: Apache-2.0
# Builds skiff's programs on Debian 12 (stage "build") and an agent image with the
# programs and what the agent runs at run time (stage "agent", the default).
#
#   docker build -t skiff-agent .
#   docker run -d --name skiff-agent --privileged --pid=host --net=host --cgroupns=host \
#     -v /sys/fs/cgroup:/sys/fs/cgroup -v /var/lib/skiff:/var/lib/skiff \
#     -v /run/skiff:/run/skiff:rshared -v /etc/skiff:/etc/skiff:ro \
#     skiff-agent --cluster default --endpoint http://CONTROL-PLANE:8100 \
#     --join-token-file /etc/skiff/join-token --state /var/lib/skiff/agent
#
# The agent creates namespaces, cgroups, bridges and nftables/iptables rules on the host, so
# it needs the host's pid and network namespaces, cgroup tree and full privileges;
# /run/skiff must be shared so that network-namespace mounts are seen by the host.
FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps scripts/install-deps
RUN ./scripts/install-deps
COPY . .
RUN make -j"$(nproc)" release

FROM debian:bookworm-slim AS agent
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
        libjansson4 libseccomp2 libcap2 libarchive13 libcurl4 libmicrohttpd12 \
        libsqlite3-0 libssl3 libisal2 libgnutls30 libmnl0 libnftnl11 \
        containernetworking-plugins iproute2 iptables ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/release/bin/ /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/skiff-agent"]
