"""Writes the body of a GitHub push webhook and prints its signature, for the hook_github scenario.

    github_push.py OUT SECRET [--commits 3] [--branch NAME]

OUT gets the JSON body, shaped and sized like the payload GitHub sends for a push of COMMITS
commits (the full `repository`, `pusher` and `sender` objects included, so the master parses
and logs a realistic amount); stdout gets `sha256=<hex>`, the HMAC-SHA256 of exactly those bytes
under SECRET, i.e. the X-Hub-Signature-256 header. The body never changes, so one signature
serves every request wrk sends.
"""

import argparse
import hashlib
import hmac
import json

OWNER = "bench-org"
NAME = "bench-app"
HTML = f"https://github.com/{OWNER}/{NAME}"
API = f"https://api.github.com/repos/{OWNER}/{NAME}"


def user(login, uid):
    """A GitHub user object as webhooks carry it (sender, owner)."""
    api = f"https://api.github.com/users/{login}"
    return {
        "login": login, "id": uid, "node_id": f"MDQ6VXNlcj{uid}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4", "gravatar_id": "",
        "url": api, "html_url": f"https://github.com/{login}", "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}", "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}", "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs", "repos_url": f"{api}/repos", "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events", "type": "User", "site_admin": False,
    }


def repository():
    """The push event's `repository` object (push events give timestamps as epoch numbers)."""
    templated = [
        "keys", "collaborators", "teams", "hooks", "issue_events", "events", "assignees", "branches", "tags",
        "blobs", "git_tags", "git_refs", "trees", "statuses", "languages", "stargazers", "contributors",
        "subscribers", "subscription", "commits", "git_commits", "comments", "issue_comment", "contents",
        "compare", "merges", "archive", "downloads", "issues", "pulls", "milestones", "notifications",
        "labels", "releases", "deployments",
    ]
    repo = {
        "id": 123456789, "node_id": "R_kgDOHbench", "name": NAME, "full_name": f"{OWNER}/{NAME}",
        "private": False, "owner": {"name": OWNER, "email": None, **user(OWNER, 4242)},
        "html_url": HTML, "description": "The application the benchmark pushes to", "fork": False, "url": HTML,
    }
    repo.update({f"{k}_url": f"{API}/{k}" for k in templated})
    repo.update({
        "created_at": 1700000000, "updated_at": "2026-01-01T00:00:00Z", "pushed_at": 1767225600,
        "git_url": f"git://github.com/{OWNER}/{NAME}.git", "ssh_url": f"git@github.com:{OWNER}/{NAME}.git",
        "clone_url": f"{HTML}.git", "svn_url": HTML, "homepage": None, "size": 2048, "stargazers_count": 12,
        "watchers_count": 12, "language": "Rust", "has_issues": True, "has_projects": False,
        "has_downloads": True, "has_wiki": False, "has_pages": False, "has_discussions": False,
        "forks_count": 3, "mirror_url": None, "archived": False, "disabled": False, "open_issues_count": 4,
        "license": None, "allow_forking": True, "is_template": False, "web_commit_signoff_required": False,
        "topics": ["ci", "benchmark"], "visibility": "public", "forks": 3, "open_issues": 4, "watchers": 12,
        "default_branch": "main", "stargazers": 12, "master_branch": "main",
    })
    return repo


def commit(i, parent_files):
    sha = hashlib.sha1(f"bench commit {i}".encode()).hexdigest()
    return {
        "id": sha,
        "tree_id": hashlib.sha1(f"bench tree {i}".encode()).hexdigest(),
        "distinct": True,
        "message": f"Fix the frobnicator when the widget count overflows ({i})\n\n"
                   "A longer explanation of the change, as commit messages have.",
        "timestamp": f"2026-01-01T12:{i:02d}:00+01:00",
        "url": f"{HTML}/commit/{sha}",
        "author": {"name": "Bench Author", "email": "bench@example.org", "username": "bench-author"},
        "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
        "added": [f"src/new_module_{i}.rs"],
        "removed": [],
        "modified": parent_files + [f"tests/module_{i}.rs"],
    }


def payload(n, branch):
    commits = [commit(i, ["src/lib.rs", "Cargo.toml"]) for i in range(1, n + 1)]
    before = hashlib.sha1(b"bench commit 0").hexdigest()
    return {
        "ref": f"refs/heads/{branch}", "before": before, "after": commits[-1]["id"],
        "repository": repository(),
        "pusher": {"name": "bench-author", "email": "bench@example.org"},
        "sender": user("bench-author", 777),
        "created": False, "deleted": False, "forced": False, "base_ref": None,
        "compare": f"{HTML}/compare/{before[:12]}...{commits[-1]['id'][:12]}",
        "commits": commits, "head_commit": commits[-1],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("secret")
    ap.add_argument("--commits", type=int, default=3)
    ap.add_argument("--branch", default="bench-no-scheduler-watches-this")
    args = ap.parse_args()
    body, signature = signed(args.commits, args.branch, args.secret)
    with open(args.out, "wb") as f:
        f.write(body)
    print(signature)


def signed(n, branch, secret):
    """The body of a push of N commits to BRANCH, and its X-Hub-Signature-256 under SECRET."""
    body = json.dumps(payload(n, branch), separators=(",", ":")).encode()
    return body, "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


if __name__ == "__main__":
    main()
