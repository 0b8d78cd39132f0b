# runaway: children that, together, hold more memory than the limit (each one under it)
import time as _time

for _ in range(6):
    if _os.fork() == 0:
        _chunks = []
        for _ in range(8):
            _chunks.append(bytearray(50 << 20))
            _time.sleep(0.05)
        _time.sleep(60)
        _os._exit(0)
_time.sleep(60)
