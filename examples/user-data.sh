#!/bin/sh
# EC2 user data (plain text): give this instance an lkp host certificate at first boot.
# Needs: an instance role whose session may ask the CA for host certificates (the CA checks the
# request comes from assumed-role/<role>/<this instance id>), IMDSv2, outbound HTTPS to the CA.
# Works on Amazon Linux 2023, Ubuntu 22.04+ and Debian 11+.
set -eu

CA_URL='https://abcdefghijklmnop.lambda-url.eu-west-1.on.aws/' # your CaFunctionUrl output

# Node.js 22 or later.
if ! command -v node >/dev/null 2>&1; then
  if command -v dnf >/dev/null 2>&1; then
    dnf install -y nodejs22 && ln -sf /usr/bin/node-22 /usr/local/bin/node && ln -sf /usr/bin/npm-22 /usr/local/bin/npm
  else
    apt-get update && apt-get install -y ca-certificates curl
    curl -fsSL https://deb.nodesource.com/setup_22.x | bash -
    apt-get install -y nodejs
  fi
fi

npm install --global lkp

# Host key + certificate, CA trust, sshd drop-in, sshd reload, renewal timer. Safe to re-run.
lkp host --ca "$CA_URL"
