# The ocx-sim sandbox as an image (docs/quickstart.md "The sandbox in a container").
#
# The build needs no network for Python packages: `make image` first builds the project's wheel
# and every wheel it depends on into build/image-wheels/ on the host, and they are installed from
# there. The base image is an argument: the official slim Python image by default, or any
# Debian-like image without Python (CI's bookworm minbase), on which Debian's python3 is
# installed. Its Python must be the minor version the host built the wheels with (`make image`
# picks the matching python:X.Y-slim by default).
ARG BASE_IMAGE=python:3.11-slim

# The base with a Python that can make a virtual environment; both later stages start here, so a
# base without Python gets it once.
FROM ${BASE_IMAGE} AS base
RUN if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then \
        apt-get update \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            python3 python3-venv \
        && apt-get clean && rm -rf /var/lib/apt/lists/*; \
    fi

# The virtual environment, installed from the wheels alone. Pip and setuptools are removed once
# done (the server never installs anything), and so are the C and Cython sources some wheels
# ship beside their compiled modules (some 6 MB nothing reads at run time).
FROM base AS build
COPY build/image-wheels/ /tmp/wheels/
RUN python3 -m venv /opt/ocx-sim \
    && if ! /opt/ocx-sim/bin/pip install --quiet --no-cache-dir --no-index \
            --find-links /tmp/wheels ocx-sim; then \
        echo "build/image-wheels/ holds no wheels for this image's $(python3 --version):" \
             "build the image from a host with the same Python minor version" >&2; \
        exit 1; \
    fi \
    && /opt/ocx-sim/bin/pip uninstall --quiet --yes pip setuptools \
    && find /opt/ocx-sim/lib -type f \( -name '*.c' -o -name '*.h' -o -name '*.pyx' \
        -o -name '*.pxd' \) -delete
COPY docker/healthcheck.py /opt/ocx-sim/healthcheck.py

FROM base
# The venv's interpreter links to the base's, which is why this stage starts from `base` too.
COPY --from=build /opt/ocx-sim /opt/ocx-sim
# A user of its own, who owns /data, so that a new named volume mounted there is writable by it.
RUN useradd --uid 10001 --user-group --home-dir /data --no-create-home ocx-sim \
    && mkdir /data && chown ocx-sim:ocx-sim /data
USER ocx-sim
WORKDIR /data
# Unbuffered: the banner (the demo account) and the logs reach `docker logs` as they are printed.
ENV PATH=/opt/ocx-sim/bin:$PATH \
    PYTHONUNBUFFERED=1
VOLUME /data
EXPOSE 8000
# Every five seconds, so that a client waiting for `healthy` waits seconds, not half a minute; a
# check is one short Python process on the loopback.
HEALTHCHECK --interval=5s --timeout=4s --start-period=60s --retries=3 \
    CMD ["/opt/ocx-sim/bin/python", "/opt/ocx-sim/healthcheck.py"]
# Bound to every interface (a container's port is reached through its network), the worlds kept
# in the volume. Anything after the image's name goes to `ocx-sim serve`:
# `docker run ocx-sim --no-control --clock realtime --scenario sandbox`.
ENTRYPOINT ["ocx-sim", "serve", "--host", "0.0.0.0", "--state-dir", "/data"]
CMD []
