# The portal's image: web (gunicorn), worker and beat all run it. It holds no secret: every
# production variable is read when a process starts (config/settings/production.py refuses to
# start without them). tests/test_image.py runs the build steps below on every test run.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    STATIC_ROOT=/app/staticfiles \
    PRIVATE_MEDIA_ROOT=/data/private

# System: gettext to compile the translations; an unprivileged user; the uploads volume.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home portal && mkdir -p /data/private && chown portal /data/private

WORKDIR /app
COPY . .
RUN pip install .
# Build steps run on config.settings.build: no secret, no database, no Redis.
RUN DJANGO_SETTINGS_MODULE=config.settings.build python manage.py collectstatic --noinput \
    && DJANGO_SETTINGS_MODULE=config.settings.build python manage.py compilemessages --ignore=.venv

USER portal
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--timeout", "60", "--access-logfile", "-"]
