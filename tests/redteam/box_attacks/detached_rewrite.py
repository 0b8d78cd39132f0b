# forged verdict: a detached child rewrites the results after `kata grade` has exited
_FORGED = "{\"version\": 3, \"learners\": []}"
_linger(3, "\n".join(f"open({path!r}, 'w').write({_FORGED!r})" for path in RESULTS))
