# The compose check's own stand-in for `redis:7`, for a host that cannot pull images (an
# isolated build machine): `check.py` builds it only when `redis:7` is neither present nor
# pullable, and compose's `redis` service then runs it. It is Debian bookworm's Redis 7.0
# with what the official image's contract gives compose: a `redis` user, /data as the working
# directory, and protected mode off (the official image compiles it off; without it Redis
# refuses the other containers, which reach it over the compose network with no password).
# BASE is the Debian the host has: debian:bookworm-slim, or a locally imported one.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
LABEL org.simpul.standin="redis:7"
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends redis-server redis-tools; \
    rm -rf /var/lib/apt/lists/*; \
    id redis; \
    mkdir -p /data; chown redis:redis /data; \
    printf '#!/bin/sh\nset -e\nif [ "$1" = redis-server ]; then shift; set -- redis-server --protected-mode no "$@"; fi\nexec "$@"\n' \
      > /usr/local/bin/docker-entrypoint.sh; \
    chmod 755 /usr/local/bin/docker-entrypoint.sh
WORKDIR /data
ENTRYPOINT ["docker-entrypoint.sh"]
EXPOSE 6379
CMD ["redis-server"]
