# runaway: many children, each detaching
for _ in range(200):
    try:
        _linger(60)
    except OSError:
        break
