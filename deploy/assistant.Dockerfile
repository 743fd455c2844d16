# The assistant: Rasa server with our channels, tracker store, lock store and safety policy.
# Build from the repository root with a trained model in models/ (`make train`):
#   docker build -f deploy/assistant.Dockerfile -t aftercare/assistant:latest .
FROM python:3.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    AFTERCARE_ENV=production \
    AFTERCARE_VAR_DIR=/app/var

WORKDIR /app

# The exact versions `make install` uses (Rasa 3.6 pins Python 3.10).
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY pyproject.toml README.md config.yml domain.yml endpoints.yml credentials.yml ./
COPY bot/ bot/
COPY actions/ actions/
COPY knowledge/ knowledge/
COPY migrations/ migrations/
COPY models/ models/
RUN pip install --no-deps . \
    && useradd --uid 1001 --no-create-home --shell /usr/sbin/nologin aftercare \
    && mkdir -m 0700 var && chown aftercare var

USER 1001
EXPOSE 5005
# The token comes from RASA_AUTH_TOKEN (never the command line); endpoints and credentials
# are mounted by the Helm chart (deploy/helm/values.yaml).
CMD ["python", "-m", "bot.launch.rasa_server", "--interface", "0.0.0.0", "--port", "5005", \
     "--model", "/app/models", "--endpoints", "/app/endpoints.yml", "--credentials", "/app/credentials.yml"]
