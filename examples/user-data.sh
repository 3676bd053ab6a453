#!/bin/sh
# EC2 user data (plain text): give this instance an lkp host certificate at first boot.
# The stack's HostUserData output is the ready-made form of this (its downloads URL and digest filled
# in); this longer version is for hosting the agent yourself (docs/deploy.md, "Install").
# Installs only a pinned artifact you control: the host agent (one bash file, host/lkp-host-agent;
# `dist/lkp-host-agent` in the build) from a URL of yours, checked against its sha256 before it runs.
# Never `npm install -g lkp`: that registry name is not this project's, and whoever owned it would
# run code as root on every instance. No Node.js needed: bash, curl, openssl and OpenSSH suffice.
# Needs: an instance role whose session may ask the CA for host certificates (the CA checks the
# request comes from assumed-role/<role>/<this instance id>) and, for an AWS_IAM Function URL,
# lambda:InvokeFunctionUrl plus lambda:InvokeFunction (condition lambda:InvokedViaFunctionUrl = true)
# on the CA function (docs/deploy.md); IMDSv2; outbound HTTPS to the CA.
set -eu

CA_URL='https://abcdefghijklmnop.lambda-url.eu-west-1.on.aws/' # your CaFunctionUrl output
AGENT_URL='https://example.com/lkp/lkp-host-agent'             # where you publish dist/lkp-host-agent
AGENT_SHA256='0000000000000000000000000000000000000000000000000000000000000000' # sha256sum dist/lkp-host-agent

agent=/usr/local/sbin/lkp-host-agent
curl -fsSL --proto '=https' -o "$agent.download" "$AGENT_URL"
echo "$AGENT_SHA256  $agent.download" | sha256sum -c -
chmod 0755 "$agent.download"
mv "$agent.download" "$agent"

# Host key + certificate, CA trust, sshd drop-in, sshd reload, renewal timer. Safe to re-run.
"$agent" run --ca-iam-url "$CA_URL"
