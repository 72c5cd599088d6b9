FROM python:3.11-slim-bookworm
WORKDIR /app
COPY pyproject.toml README.md ./
COPY fleet_monitor ./fleet_monitor
COPY gbfs_ingest ./gbfs_ingest
COPY datastore ./datastore
COPY rules ./rules
COPY gbfs_simulator ./gbfs_simulator
COPY config.toml ./config.toml
RUN pip install --no-cache-dir .
USER nobody
