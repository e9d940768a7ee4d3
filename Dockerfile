# One image for every Simpul service; docker-compose.yml picks the service and the process
# (`python -m services.<service> web|worker|migrate`). Configuration, secrets included,
# comes from the environment at run time: nothing secret is baked into a layer.
# Pinned to a patch release and a Debian release, so a rebuild gets the same interpreter and
# userland; move the pin deliberately (and run `make compose-check`) for security releases.
FROM python:3.11.15-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The working-day calendar needs the IANA time zones (Asia/Jakarta and the OPDs' zones);
# newer slim bases no longer ship them.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, in their own layer, so a code change does not reinstall them: the
# runtime ones only (no `dev` or `test` extra: honcho, ruff and pytest stay out of the image). The
# package directory is a stub here; the editable install maps `services` to /app/services,
# which the real code replaces below, and keeps config/ next to it where settings look.
COPY pyproject.toml ./
RUN mkdir services && touch services/__init__.py \
    && pip install -e . \
    && rm -rf services

COPY config ./config
COPY services ./services
RUN python -m compileall -q services

# The code stays owned by root and read-only to the process user. The one writable place is
# each registered service's file store directory, where compose mounts that service's volume
# (a new volume takes the directory's owner when first used).
RUN groupadd --system --gid 10001 simpul \
    && useradd --system --uid 10001 --gid simpul --home-dir /nonexistent --shell /usr/sbin/nologin simpul \
    && for service in $(python -m services.common.registry names); do mkdir -p "/app/var/files/$service"; done \
    && chown -R simpul:simpul /app/var/files
USER simpul:simpul

# No EXPOSE: each service listens on its port from config/services.json, and compose
# publishes it in the service's block.
CMD ["python", "-c", "print('choose a process: python -m services.<service> web|worker|migrate')"]
