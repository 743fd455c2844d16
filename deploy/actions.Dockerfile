# The action server (knowledge answers, flags), behind the shared secret header.
#   docker build -f deploy/actions.Dockerfile -t aftercare/actions:latest .
FROM python:3.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AFTERCARE_ENV=production \
    AFTERCARE_VAR_DIR=/app/var

WORKDIR /app

COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY pyproject.toml README.md domain.yml ./
COPY bot/ bot/
COPY actions/ actions/
COPY knowledge/ knowledge/
COPY migrations/ migrations/
RUN pip install --no-deps . \
    && useradd --uid 1001 --no-create-home --shell /usr/sbin/nologin aftercare \
    && mkdir -m 0700 var && chown aftercare var

USER 1001
EXPOSE 5055
CMD ["python", "-m", "bot.launch.action_server", "--host", "0.0.0.0", "--port", "5055"]
