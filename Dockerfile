# One image for web, worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm postgresql-client gnupg \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY natalizumab_monitor ./natalizumab_monitor
COPY patients ./patients
COPY infusions ./infusions
COPY labs ./labs
COPY alerts ./alerts
RUN pip install .
COPY . .
RUN if [ -f package-lock.json ]; then npm ci --omit=dev; fi \
    && NATALIZUMAB_VAR_DIR=/tmp/build-var python manage.py collectstatic --noinput \
    && rm -rf /tmp/build-var

RUN useradd --system --uid 1000 monitor && mkdir -p /app/var && chown monitor /app/var
USER monitor

EXPOSE 8000
CMD ["gunicorn", "natalizumab_monitor.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "30"]
