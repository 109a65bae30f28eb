#!/usr/bin/env python3
"""Write the subset of GitHub's REST OpenAPI description that the GitHub fake serves.

The fake in internal/testutil/githubfake validates every request and response
against this subset, so it cannot drift from the real API. The description
comes from the npm package @octokit/openapi at a pinned version (GitHub's
official description plus Octokit's extensions); its integrity is checked
against the registry's sha512 before use.

Only the operations listed in OPERATIONS are kept. Every $ref they reach,
transitively, is copied from components, so the subset is self-contained.
Descriptions and examples are dropped to keep the committed file small;
schemas, parameters and responses are kept exactly.

Usage:
    scripts/github-openapi-subset.py [--tarball octokit-openapi-VERSION.tgz]

Without --tarball the script runs `npm pack @octokit/openapi@VERSION` in a
temporary directory. It writes
internal/testutil/githubfake/openapi/api.github.com.subset.json and VERSION.
"""

import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile

PACKAGE = "@octokit/openapi"
VERSION = "23.0.2"
# The registry's dist.integrity of the pinned version.
INTEGRITY = "sha512-pV8M7L9GY23AybNvTmo2nyjmpmnt6+2sRE/tqr0ZLQcPS4lnw7u5eZGNmwRNkBC3D7gZXbFx5AHzLUVRBXGDhg=="
SOURCE = "package/generated/api.github.com.json"

# (path, method) of every operation the fake serves.
OPERATIONS = [
    ("/app/installations/{installation_id}/access_tokens", "post"),
    ("/rate_limit", "get"),
    ("/repos/{owner}/{repo}", "get"),
    ("/repos/{owner}/{repo}/pulls", "get"),
    ("/repos/{owner}/{repo}/pulls", "post"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}", "get"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}", "patch"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/merge", "get"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/merge", "put"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers", "get"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers", "post"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers", "delete"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/comments", "get"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/comments", "post"),
    ("/repos/{owner}/{repo}/issues/comments/{comment_id}", "patch"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/labels", "get"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/labels", "post"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", "delete"),
    ("/repos/{owner}/{repo}/check-runs", "post"),
    ("/repos/{owner}/{repo}/check-runs/{check_run_id}", "get"),
    ("/repos/{owner}/{repo}/check-runs/{check_run_id}", "patch"),
    ("/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations", "get"),
    ("/repos/{owner}/{repo}/commits/{ref}/check-runs", "get"),
    ("/repos/{owner}/{repo}/commits/{commit_sha}/pulls", "get"),
    ("/repos/{owner}/{repo}/statuses/{sha}", "post"),
    ("/repos/{owner}/{repo}/commits/{ref}/statuses", "get"),
    ("/repos/{owner}/{repo}/commits/{ref}/status", "get"),
    ("/repos/{owner}/{repo}/git/ref/{ref}", "get"),
    ("/repos/{owner}/{repo}/git/matching-refs/{ref}", "get"),
    ("/repos/{owner}/{repo}/git/refs", "post"),
    ("/repos/{owner}/{repo}/git/refs/{ref}", "patch"),
    ("/repos/{owner}/{repo}/git/refs/{ref}", "delete"),
    ("/repos/{owner}/{repo}/contents/{path}", "get"),
]

# The webhook events the fake delivers (keys of the description's
# x-webhooks); their payload schemas are kept so deliveries are validated too.
WEBHOOKS = [
    "pull-request-opened",
    "pull-request-edited",
    "pull-request-closed",
    "pull-request-reopened",
    "pull-request-labeled",
    "pull-request-synchronize",
    "push",
    "check-run-rerequested",
]

# Where GitHub's answers break its own description, the subset says what
# GitHub sends. Each fix is (component schema, path of keys to a $ref that
# GitHub may answer with null), with the issue that reports the inaccuracy.
NULLABLE_REFS = [
    # A pull request from a deleted fork has head.repo null
    # (github/rest-api-description#1811, and #424 for pull-request).
    ("pull-request-simple", ["properties", "head", "properties", "repo"]),
    ("pull-request", ["properties", "head", "properties", "repo"]),
]

# Keys that only document; dropping them does not change what validates.
# An operation's externalDocs is kept: its URL is the documentation_url of
# GitHub's error bodies for that operation.
DOC_KEYS = {"description", "examples", "example", "summary", "x-github", "x-octokit", "tags", "externalDocs"}

SUBSET_DIR = os.path.join("internal", "testutil", "githubfake", "openapi")
SUBSET_FILE = "api.github.com.subset.json"


def fetch(tmp):
    out = subprocess.run(
        ["npm", "pack", "--json", f"{PACKAGE}@{VERSION}"],
        cwd=tmp, check=True, capture_output=True, text=True,
    ).stdout
    info = json.loads(out)[0]
    return os.path.join(tmp, info["filename"])


def check_integrity(path):
    algo, want = INTEGRITY.split("-", 1)
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    got = base64.b64encode(h.digest()).decode()
    if got != want:
        sys.exit(f"{path}: integrity {algo}-{got}, want {INTEGRITY}")


def strip_docs(node, mode=""):
    """Return node without documentation keys. mode says what node is:
    "properties" (its keys are property names, data rather than
    documentation, so a property called "description" stays), "responses"
    (its values are response objects) or "response" (a response object,
    whose description OpenAPI requires)."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            keep = mode in ("properties", "response") and k == "description" or mode == "properties"
            if k == "externalDocs" and "operationId" in node:
                keep = True
            if k in DOC_KEYS and not keep:
                continue
            child = ""
            if mode == "properties":
                child = ""
            elif k == "properties":
                child = "properties"
            elif k == "responses":
                child = "responses"
            elif mode == "responses":
                child = "response"
            out[k] = strip_docs(v, child)
        return out
    if isinstance(node, list):
        return [strip_docs(v) for v in node]
    return node


def refs_in(node, acc):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            acc.add(ref)
        for v in node.values():
            refs_in(v, acc)
    elif isinstance(node, list):
        for v in node:
            refs_in(v, acc)


def resolve(doc, ref):
    if not ref.startswith("#/"):
        sys.exit(f"external $ref {ref} is not supported")
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[part]
    return node


def subset(doc):
    paths = {}
    for path, method in OPERATIONS:
        item = doc["paths"].get(path)
        if item is None or method not in item:
            sys.exit(f"{SOURCE}: operation {method.upper()} {path} not found")
        out = paths.setdefault(path, {})
        if "parameters" in item:
            out["parameters"] = item["parameters"]
        out[method] = item[method]
    paths = strip_docs(paths)

    webhooks = {}
    for name in WEBHOOKS:
        hook = doc["x-webhooks"].get(name)
        if hook is None:
            sys.exit(f"{SOURCE}: webhook {name} not found")
        webhooks[name] = strip_docs(hook)

    components = {}
    pending = set()
    refs_in(paths, pending)
    refs_in(webhooks, pending)
    seen = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        parts = ref[2:].split("/")
        if parts[0] != "components" or len(parts) != 3:
            sys.exit(f"unexpected $ref {ref}")
        node = strip_docs(resolve(doc, ref), "response" if parts[1] == "responses" else "")
        components.setdefault(parts[1], {})[parts[2]] = node
        refs_in(node, pending)

    for name, keys in NULLABLE_REFS:
        node = components["schemas"][name]
        for k in keys[:-1]:
            node = node[k]
        ref = node[keys[-1]]
        if set(ref) != {"$ref"}:
            sys.exit(f"{name}: {'.'.join(keys)} is no longer a plain $ref: review NULLABLE_REFS")
        node[keys[-1]] = {"allOf": [ref], "nullable": True}

    info = {
        "title": "GitHub REST API subset served by githubfake",
        "version": doc["info"]["version"],
        "x-source-package": f"{PACKAGE}@{VERSION}",
        "x-source-file": SOURCE.removeprefix("package/"),
        "x-generated-by": "scripts/github-openapi-subset.py",
    }
    return {
        "openapi": doc["openapi"],
        "info": info,
        "servers": doc["servers"],
        "paths": paths,
        "x-webhooks": webhooks,
        "components": components,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tarball", help="an already downloaded npm pack of the pinned version")
    ap.add_argument("--out", default=SUBSET_DIR, help="output directory")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tgz = args.tarball or fetch(tmp)
        check_integrity(tgz)
        with tarfile.open(tgz) as tar:
            member = tar.extractfile(SOURCE)
            if member is None:
                sys.exit(f"{tgz}: {SOURCE} missing")
            doc = json.load(member)

    if doc["info"]["version"] != VERSION:
        sys.exit(f"{SOURCE}: version {doc['info']['version']}, want {VERSION}")
    out = subset(doc)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, SUBSET_FILE), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    with open(os.path.join(args.out, "VERSION"), "w") as f:
        f.write(f"{PACKAGE}@{VERSION}\n")
    n = sum(len(v) for v in out["components"].values())
    print(f"wrote {len(OPERATIONS)} operations, {n} components to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
