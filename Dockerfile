# syntax=docker/dockerfile:1
# One image for every Python service of Yiwang (collector, API, simulators, migrations);
# docker-compose.yml chooses the `yiwang` subcommand of each container.

# ---- build: the project and its dependencies into a virtual environment -------------------------
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/yiwang
ENV PATH=/opt/yiwang/bin:$PATH
WORKDIR /src

# Dependencies first, in their own layer: editing the code does not download them again.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

# Then the project itself: a regular (not editable) install, without the dev extras.
COPY . .
RUN pip install . \
    && pip check \
    && cd / \
    && python -c "import yiwang.cli, collector.run, api.app, simulators.publisher, gateway.server, notifier.run, worker.run; from db.migrate import available; assert available()"

# ---- runtime: the virtual environment only, run by an unprivileged user --------------------------
FROM python:3.11-slim
ENV PATH=/opt/yiwang/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system --gid 10001 yiwang \
    && useradd --system --uid 10001 --gid yiwang --home-dir /home/yiwang --create-home --shell /usr/sbin/nologin yiwang
COPY --from=build /opt/yiwang /opt/yiwang
USER 10001:10001
# `home` (YIWANG_HOME) defaults to .yiwang under the working directory: keep that writable.
WORKDIR /home/yiwang
# The API's port and the collector's metrics port (both only with YIWANG_API_HOST / YIWANG_METRICS_HOST 0.0.0.0).
EXPOSE 8000 9108
CMD ["yiwang", "--help"]
