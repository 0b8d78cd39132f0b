"""Kata 01: broadcasting, element-wise operations, unit axes and stride 0.

An element-wise operation between two tensors pairs up their elements position by position
and runs in compiled code, thousands of times faster than a Python loop. Broadcasting lets
the two tensors have different shapes: it lines the shapes up from the right, and each pair
of sizes must be equal or contain a 1 (a missing axis counts as 1). An axis of size 1 is
then reused along the other tensor's axis, without copying: its stride becomes 0.
"""

import torch


def fraction_less(a, b):
    """The fraction of positions where ``a < b``, after broadcasting ``a`` against ``b``.

    Returns a Python float.

    >>> fraction_less(torch.tensor([1, 5, 3]), torch.tensor(4))
    0.6666666666666666
    """
    return (a < b).double().mean().item()


def broadcast_shape(*shapes):
    """The shape that broadcasting ``shapes`` against each other gives, as a tuple of ints.

    Shapes are lined up from the right; at each axis the sizes must be equal or 1 (a missing
    axis counts as 1), and the result takes the size that is not 1. No shapes give ``()``.
    Raises ``ValueError`` naming the axis (counted from the right, as a negative index) and
    the two sizes when the shapes do not broadcast: the first axis from the right where they
    clash.

    >>> broadcast_shape((256, 256, 3), (3,))
    (256, 256, 3)
    >>> broadcast_shape((5, 1), (1, 4))
    (5, 4)
    >>> broadcast_shape((2, 3), (4,))
    Traceback (most recent call last):
    ...
    ValueError: shapes do not broadcast: at axis -1 the sizes 3 and 4 differ and neither is 1
    """
    result = []
    for axis in range(-1, -1 - max((len(s) for s in shapes), default=0), -1):
        size = 1
        for shape in shapes:
            other = shape[axis] if -axis <= len(shape) else 1
            if other != 1 and size != 1 and other != size:
                raise ValueError(f"shapes do not broadcast: at axis {axis} the sizes "
                                 f"{size} and {other} differ and neither is 1")
            if other != 1:
                size = other
        result.insert(0, size)
    return tuple(result)


def as_row(v):
    """``v`` of shape ``(n,)`` as a row of shape ``(1, n)``, made by indexing with None.

    The result is a view of ``v``: it shares ``v``'s memory, and no element is copied.

    >>> as_row(torch.tensor([1, 2, 3]))
    tensor([[1, 2, 3]])
    """
    return v[None]


def as_column(v):
    """``v`` of shape ``(n,)`` as a column of shape ``(n, 1)``, made by indexing with None.

    The result is a view of ``v``: it shares ``v``'s memory, and no element is copied.

    >>> as_column(torch.tensor([1, 2, 3])).shape
    torch.Size([3, 1])
    """
    return v[:, None]


def broadcast_to(x, shape):
    """``x`` broadcast to ``shape``, as ``torch.broadcast_to`` does.

    The result is a view of ``x``: it shares ``x``'s memory, and no element is copied. Every
    broadcast axis (a new leading axis, or one of size 1 stretched to a larger size) has
    stride 0, so all its positions read the same element; build it with ``x.as_strided``.
    Raises ``ValueError`` naming both shapes when ``x`` cannot be broadcast to ``shape``.

    >>> y = broadcast_to(torch.tensor([1, 2, 3]), (2, 3))
    >>> y
    tensor([[1, 2, 3],
            [1, 2, 3]])
    >>> y.stride()
    (0, 1)
    """
    shape = tuple(shape)
    new_axes = len(shape) - x.dim()
    if new_axes < 0:
        raise ValueError(f"cannot broadcast a tensor of shape {tuple(x.shape)} to {shape}: "
                         f"the target has fewer axes")
    strides = [0] * new_axes
    for size, stride, target in zip(x.shape, x.stride(), shape[new_axes:]):
        if size == target:
            strides.append(stride)
        elif size == 1:
            strides.append(0)
        else:
            raise ValueError(f"cannot broadcast a tensor of shape {tuple(x.shape)} to {shape}: "
                             f"size {size} does not fit {target}")
    return x.as_strided(shape, strides)


def subtract_channel_means(images):
    """Subtract from each channel of ``images`` (shape ``(..., H, W, C)``) its mean.

    Each channel's mean is taken over every other axis (all images, rows and columns); the
    means have shape ``(C,)`` and broadcast along the trailing axis. Raises ``ValueError``
    when ``images`` has fewer than 3 axes.

    >>> subtract_channel_means(torch.tensor([[[1.0, 10.0], [3.0, 30.0]]]))
    tensor([[[ -1., -10.],
             [  1.,  10.]]])
    """
    if images.dim() < 3:
        raise ValueError(f"images must have shape (..., H, W, C); got shape {tuple(images.shape)}")
    return images - images.mean(dim=tuple(range(images.dim() - 1)))
