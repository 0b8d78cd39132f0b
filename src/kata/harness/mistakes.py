"""The cataloged mistakes a failing test can name (``kata.harness.diagnosis``):
generated from tests/catalog/ by ``python -m kata.instructor.catalog``. Do not
edit.

Only the mistakes that need nothing of the reference solutions are here: a
learner's repository carries them, never the catalog's alternatives. Each one's
code is packed (zlib, then base64): a mistake is one slip away from the answer,
and a learner who opens this file should not read answers by accident. It is no
secret: ``kata.harness.diagnosis`` unpacks it.
"""

#: per kata folder, the import lines its mistakes run after
IMPORTS = {
    '01_broadcasting': 'import torch',
    '02_outer_ops': 'import torch',
    '03_matmul': 'import torch',
    '04_softmax': 'import torch',
    '05_module': 'import torch\nfrom torch import nn',
    '07_training_loop': 'import torch',
    '08_mnist': 'import torch',
}

#: (kata folder, function, name, explanation, packed code), each kata's in the
#: catalog's order: where two reproduce a result, the first is named
MISTAKES = (
    ('01_broadcasting',
     'broadcast_shape',
     'lines the shapes up from the left',
     'Broadcasting lines shapes up from the right: the last axes meet first, and a shorter shape '
     'gets its missing axes at the front.',
     'eNplkE1qAzEMhfc9hbqKPU1LvA1Mdr1CN2EoSiWnBsdjbA+EhNy9/mNaqDZGRu97TyLWcAoz0hfG9Bm/0bMY6hPl/gly'
     'OTIXGOGCVyEsOxEl6DlABOOgD26BWONi07iTVeORiCmrjmnxlovmBYTaShhAVOArNNY/2FQBgWPGFUDr65C5cR28GS+G'
     'ZtEzljqZ85lDkcQ/zKbRuXseQU3rdP6qATiJJsxJDqB+cTUFmsjwgXbh9xDmIPQGrybCvUhbRJk3KQs99t3r3nDH3fQA'
     'dLT2KvdktOawkatJY7yh9+xIrMqSrq/DNidQsh8lLcFBO2m3/wGct4lU'),
    ('01_broadcasting',
     'broadcast_shape',
     'checks the axes from the left, so it reports the wrong clash',
     'Work from the last axis towards the first: the clash to name is the first one met from the '
     'right (axis -1, then -2, ...).',
     'eNp1kMFuwyAMhu97Cu9U6FKJXCdlt77CLlE0ucOkSJREhkjVqrz7gGTNJfMBZGN//vk1GbjwgPobQ/wKVxxJHMsV5PsL'
     'pPDa3qCBG96FcORFkGAGhgDWw9pYgSaDk4uNkmVmRK1Jp6lW1JWEI4hCOcECkPAGcRod7cC6AshFvNtSZ/Q9iVMmVKBW'
     'VTkutu+J05YwcCQtHqHNM92GXHVYA39Prw3Us3wi0kuWtJAkfEC94XMw2kDwiW6iM/PAwhwwLsoe+ZwhXgmC/aFUWCit'
     '6mZAr595nXJtjSE+LIuZ4sR+dUAUY/9RnpxKCtG5rSN9QO20kUs61Y5v2TYp5S8f45f1'),
    ('01_broadcasting',
     'broadcast_shape',
     'lets a size of 0 broadcast like a size of 1',
     'Only a size of 1 stretches. A size of 0 is a size like any other: it fits 0 and 1 and '
     'clashes with anything else.',
     'eNptkcFuwyAQRO/9irkFUicK10rpLb/QSxRVm7A0SA62AEtRLf97AdO6UbsHG6SZtzNCs8HZd6QvFOJ7uFLPYl1+Qb48'
     'IY3T9oY9bnQXomUngoTpPAKsQxU20GxoaON+J4unJ61ZJ9dRqEZiDVEoG8wAiWfEoW/5H9ipADyHhMuA+Z5FdLdF58l9'
     'sNioBptKzUdV4+YJ9pNDMo/hmE2nZcccbEqeUU0/emuwKwmyb8EsQbbWBfZR7BrUht9z6Vy0buDfrFIyoyReoR551OCc'
     'koXOR9ZV9biQbGC8UTvwwfvOC7OiOHcf83dCvHJtONIEchrjeYK2xrAvV8c2aTySRa0W+p8qBbLtu17IHHtmcpvWK1lf'
     'IQ7e1aea7fIL7SGjxA=='),
    ('01_broadcasting',
     'fraction_less',
     'divides by the size of a instead of the broadcast result',
     'a < b has the broadcast shape, which can hold more entries than a: the fraction is over all '
     'of them.',
     'eNoNyDEKgDAMBdDdU/wxAal78S4SNYVCWyFJ72/f+F4tKCZP1G9cTd1JdtycNyymMW2ASHCuTD47MQ5IGrNrI+ZUQ9f9'
     'CwcU8w=='),
    ('01_broadcasting',
     'broadcast_to',
     'adds 0, which makes a copy',
     'x + 0 is a new tensor, so the view is lost: as_strided with stride 0 on the broadcast axes '
     'gives a view with no copy.',
     'eNplUMtOwzAQvPMVw6k2hCq9VuTIL3CpomipN2Ap2JHtiFDEv+P4UQ71yR7PzsyO4hFvzpI6kw9DsGJt4D9oZnm8QzyG'
     'vwZa2aPDxEbkLzxh3Sv9KWTi+OC0SpRT2+Phf+YxAtAjvL4wug4HkFEI5N454H578+S5zGO0LjGbAjSVqQ0uehbrPrk3'
     '0TsThCxZT9Xx2Ms+RYqm1xTPaBGlyXwL4WFsEhSHKC+zZ7zdeNzoylLIdhzpGPuVpoVfnLNOjLszmU35WiV+wjJPXAXl'
     'L4KtWEF2uT3HYXEmLkV+yHspUUPkYmUssv0DE4iJ0A=='),
    ('01_broadcasting',
     'broadcast_to',
     'computes strides as if x were contiguous',
     'x may be a transposed or stepped view: keep x.stride() for its own axes, not the strides a '
     'fresh tensor of its shape has.',
     'eNpdUEFugzAQvPcVc4vdUpRco3LsF3qJEHJhaSwRG9mLShLl77WxCVJ9smZ2Zme2ox7fzqquVZ4btmIu4M9qJHl8QXiG'
     'fhs1k0eFgYxIFN4xl52+CLnM6H4b+8Ae1kGZqxAexjK0gTgUYIk+ED78InTTo5jLxS4vPK0ex1rKvD0+p7QnfKlhok/n'
     'rBP9rlUmOj9z487TONBqKB9gu2IZ2aWorTWsfyY7xUJsXXsu6TLy9SktPTvdkZCxVS4JGkKCXDbxUX7a13jdmr8FIIq8'
     'vhGqCockS/Ope2CKFfh/gy2ZrJdFjnhyJmRQvkmaTqz3ShnkH0TXkR4='),
    ('01_broadcasting',
     'subtract_channel_means',
     'takes the mean over the channel axis instead',
     "Each channel's mean is over every axis but the last one: a mean over axis -1 averages the "
     'channels of one pixel.',
     'eNo1jsEKgkAYhO89xdzchXUhukWdIvABoo7yp7+6pKv8u3uK3j1Nm9MMA/NNzQ1CekahKpZVR95zXw5MPig3UMtBH3eY'
     '5Rqs2dZuUBonHNZikZALjDv1ia8io6gm88w1lLXWoDB4GFy0QTtGvGOaet7GbehoYv3J9G9LOCbxGwj5n7jcUTP2nO8N'
     'XszT4m+SWH8Bd5E8Gg=='),
    ('01_broadcasting',
     'as_column',
     'returns a row',
     'v[None] puts the new axis first: (1, n), a row. A column is (n, 1): the new axis goes after '
     "v's own axis.",
     'eNpLSU1TSCyOT87PKc3N0yjTtOJSAIKi1JLSojyFsmi//LzUWADfSAwa'),
    ('01_broadcasting',
     'fraction_less',
     'returns a 0-d tensor, where the docstring asks for a Python float',
     'The mean of a tensor is still a tensor (0-d); .item() turns it into the Python float the '
     'docstring promises.',
     'eNpLSU1TSCtKTC7JzM+Lz0ktLtZI1FFI0rTiUgCCotSS0qI8BY1EBRugmF5KfmlSTqqGpl5uamKehiYAPXYSSg=='),
    ('01_broadcasting',
     'as_row',
     'copies v before adding the unit axis',
     "v + 0 is a copy, so the result no longer shares v's memory: index v itself with None to get "
     'a view.',
     'eNpLSU1TSCyOL8ov1yjTtOJSAIKi1JLSojwFjTIFbQUDzWi//LzUWADxwwvQ'),
    ('01_broadcasting',
     'broadcast_to',
     "returns a numpy view of x's memory instead of a tensor",
     "The docstring asks for a tensor, and numpy's as_strided makes an ndarray: Tensor.as_strided "
     'makes the same view as a tensor.',
     'eNpdUcFuwyAMve8r3q2wZVF7rdZjf2GXKopo4mhoBBAQLe20f59DyCrNB2Q9Pz/7mZ4GXINTfadiapMTc4X4oTzJ4xM4'
     '9OhdSLDT6G9QEdZn2NJXq2aKOMGQFWsHXjHXvR6FXFuHB+0Ne7gAZW9CsIhL0BbiUCFJDFyInC3QXXsx11mu7HHZNI6N'
     'lGWpJYLSkfCuzETnEFwQw65TdlH+s4PvNHlDm6D8QXIbVpDdumpMQffZzWXf4Pmx9wsDi5Go74TTCQeQ4bErn4lzTYZG'
     'sqldGKKY4bTaOP9NcZILQsomzw6UpmD5sLXR11Js+e0+Y61iuwI9C+Q/ELLcZRsQ5S+v0ZO0'),
    ('02_outer_ops',
     'outer',
     'puts the unit axes the wrong way round (a transposed table)',
     'Row i of the table belongs to a[i]: a gets the trailing unit axis, a[:, None], and b the '
     'leading one, b[None, :].',
     'eNpNjjELwjAUhHd/xTk1gVjoGnDT1bFL6fBKXrVQ88pLMon/3VYpeNv3cRwXeISUzGrIYXCQxfoD1kwjqA7T01gcz2gg'
     'iuGPf6UtSlNitDQXvqqKmrGKzAHN6YLMMYkmh7tkvHJZZjZUpwctbN+gGHY57LKy32HlXDSubwx1N4ns4Pv1X+cdNuzt'
     'BzgtNzY='),
    ('02_outer_ops',
     'outer',
     'swaps the operands: op(b[j], a[i])',
     "Entry [i, j] is op(a[i], b[j]): a stays op's first operand, which matters for -, / and "
     'comparisons.',
     'eNpNjjELwjAUhHd/xTk1gVjoWnDT1bFL6fBCXrVQ88pLMon/3VYpeNv3cRwXeISUzGrIwTvIYtsD1kwjqA7T01gcz2gg'
     'Cv/Hv9IWpSkxOpoLX1VFzVhF5oDmdEHmmESTw10yXrksMxuq04MWtm9QDLv0u6zsd1g5F43rG+P7m0R2aAcH6luHDQf7'
     'ATg5NzY='),
    ('02_outer_ops',
     'outer',
     'accepts matrices and returns a 3-D table',
     'The docstring asks for a ValueError unless both inputs are 1-D: check a.ndim and b.ndim '
     'first.',
     'eNpLSU1TyC8tSS3SSNRRSNJRyC/QtOJSAIKi1JLSojwgXyMx2kpHwS8/LzUWqCIaxNBRsIrVBAAJ7xFp'),
    ('02_outer_ops',
     'outer_greater',
     'uses >=, so ties count as greater',
     'Strictly greater: where a[i] equals b[j] the entry is False, and >= counts those ties as '
     'True.',
     'eNpNjDELgzAUhPf+iutkAqngKtipXR27iJQX8rSCTeQlmUr/e7VF6C1393Gc4wEhJ5b7KEyrKzKwuj5g1TSASjc9lcax'
     'QYUgsH/9N9okNEXGjebMV5Egaig8s0N1uiCxj0GiwRgSXikvMysq44MW1m+Qdzu0Oyz091g4ZfGgrjZog+ce5wa226JB'
     '3X8ARb04kw=='),
    ('02_outer_ops',
     'pairwise_distances',
     'expands |x - y|^2 as |x|^2 + |y|^2 - 2 x.y',
     'That expansion subtracts large numbers, so rounding can swamp a small distance, and a '
     "point's distance to itself is not exactly 0.",
     'eNpdjztPxDAQhHt+xVCdHXwRuTJSSlpKmihC1tkBS7Gd80PEQvx37DxOgq12Zne+1Qo5YubKfSkv34XygZur9GRhSLR9'
     'QC41YqmF0oTiscMF1iH900vtP/ks+2YoVrqrDVDK8czHG5+ifHHOOjKejJQCxDAICm5yq0vL8GEDvkOcJ0l2Lv1ZF3Yz'
     'HeaJrnhhg0cHsvQtw6s1kqEdUCH1uyia1j5qcm62iL9F7vL1kkJV4bKNG3ogBjyBpL+jO/qcn67WsyvMyRCdOZj1deJ6'
     'JlqZ7jlHby4Q+guh4mg/'),
    ('02_outer_ops',
     'pairwise_distances',
     'adds a small epsilon under the square root',
     "sqrt(d + 1e-12) is never exactly 0, yet a point's distance to itself must be: take the root "
     'of the exact sum.',
     'eNpdjDFPwzAQRnd+xcfUu9aJlI6RGFk7skQVsvAFLDVOODsiFup/b1wCAzd97+n0nPSYrNcvH+XV+ZhseJNIi0Hm9gHr'
     '+R5L7fxAjMcnHDEq8j9e6vhhJ+mac1H5j34C5dSufbzYyyzPqqNSvwsiDhQMHMOGdQ5lGryPCd9pni5CW5ev94dN5l+5'
     '43teJc0aQERL1xqcxiAG7RkVcrdBYcZ+jyPXcR6oahgHNFI1RXxqIr4BOXVNWQ=='),
    ('02_outer_ops',
     'pairwise_distances',
     'sums over the points instead of the coordinates',
     'x[:, None, :] - y[None, :, :] has shape (n, m, d): the coordinates are the last axis, so '
     'sum over -1 to get (n, m).',
     'eNpdjDELwjAQhXd/xXPyIrGoY8HR1dGliARz1YBN6yXFBvG/22p18C33vsfxWS7RGCd3F/hoXYjGnzhQp5FUPkEfV6LL'
     'rKtIYbrBGrUg/XGXhYtpuFgdhin96CMYIqb3Y2+uLW9FaqFy5pktyGtYBeP7Wg1V41xHPGLbXJlGr3q+H8YxfceZeuuF'
     'YyseRF2Ra+xqzxr5AQukYoSBFeZzrFUW2oqW/blJJPUCAHFLSQ=='),
    ('02_outer_ops',
     'grid',
     'returns two flat aranges',
     'The pair should broadcast into the (h, w) grid: the rows as (h, 1), the columns as (1, w), '
     'each with a unit axis.',
     'eNpLSU1TSC/KTNHI0FEo17TiUgCCotSS0qI8BY2S/KLkDL3EosS89FSNDE0dBRSBck1NAFDDE4w='),
    ('03_matmul',
     'matvec',
     'sums over axis 0 instead of axis 1',
     '(m * c) has shape (n, k); the k products of row i lie along axis 1, so that is the axis to '
     'sum.',
     'eNpFjj0LwjAURXd/xXVqIiW0joWOrk7iUjqE5BUDTVPyIYj4321q1bs8zuFyeZoGWBnvpJgtoXizwxKzSKGNZRz7Fkc4'
     'D/XnOrMV4SZn6uo+K7VR1X8Gcrw0gXCVY6KT986zoVhLAc+Y5pHYNsFfkJP+SvWT2mFyEYOJBV9HPcXkJzCLA1TXlDi7'
     'iXpx4SIky6oSOj5mapfP8+Vv1dVC/w=='),
    ('03_matmul',
     'matvec',
     'lets sum promote int32 to int64',
     "sum() widens int32 to int64 unless told otherwise: ask it for the inputs' dtype to give "
     'int32 back for int32.',
     'eNpFjkEKwjAQRfee4rtqIhKsS8GlV3AjXYRkioFOUyaJG/HuprXq373H8BhPPdjmBznFezh92qAuVGl8YKWxPeOIKHB/'
     'bmdmk+52olvbzcqtdOg+gXliQyJc7VDoIhJF9c1ylPDMZRpIrQn9gh39V7qf9BFjzOhDbvQSFcpFRijGrn5qUmHV6jd4'
     'dDpA'),
    ('03_matmul',
     'matmul',
     'returns floats for integer inputs',
     'Integer inputs give exact results of their own dtype: a detour through floats rounds large '
     'values and changes the dtype.',
     'eNpVjDsPwjAQg3d+hZmaQ20kOlYwsjKyVBkuSiIqtU2Vx4T47/QFEtYt/uyzsQ4DpyH3gktoag6Y1TmwNN0gCBfU8AH6'
     '37KMT55sW50Vjtc53W2ttoFFgbto8eA+21sIPghXrK2IV8pTb8U+Qm/waL5Q/6DxGH2C61JB62iwKYcRglspZYlmvbsf'
     'rZLGZz0/E07QW7rwraNIxjyIqibpes9J0Ae6y0g5'),
    ('03_matmul',
     'matmul',
     'sums over the wrong axis of the broadcast product',
     'a[..., :, :, None] * b[..., None, :, :] has shape (..., n, k, m): the shared k is axis -2, '
     'the one to sum.',
     'eNpVjzsLwkAQhHt/xVjlTpKDpAxa2lrahBR73B4Gkly4RyHifzcvBYeFZWaWD9awxUBxSL2gHFrWB8zqLEiZbhASZ1Rw'
     'HvrfkgoPmrgpyhbHy9zutmo3wCJPXWDcqU989d55YbP1KuAV09Sz2CHyDRrNN9S/0DiMLsJ2MZMr1HNMfoSgRimVo17n'
     '5kZucYLewsVuVStVSIMoyhwmPie+zB8tW34AFStIDQ=='),
    ('03_matmul',
     'matmul',
     'never checks the inner sizes',
     'When a.shape[-1] != b.shape[-2] there is no product: raise ValueError naming both shapes '
     'instead of cutting one short.',
     'eNpLSU1TyE0syS3N0UjUUUjStOJSAIJsBVuF3Mw8jUS94ozEgtRoXcNYoCSMYxSrCVZVlFpSWpSnoJEYraenp6NgBUTZ'
     'Ogp++XmpsQpaCkkQURAXImEVq6lXXJqroWuko5BSUlmQapuoB6Y1AddwJcQ='),
    ('03_matmul',
     'matmul_by_columns',
     'stacks the columns as rows (a transposed result)',
     'torch.stack adds its new axis first (dim=0), so each column becomes a row; dim=1 lays them '
     'side by side as columns.',
     'eNpdjzsOwjAQRHtOMVTYKIqAEomSK9BEEVrHNhhiO/KniBB3xwmfgmlWM1rNvpVKw1KyuT+L8dz5PlsXGVUQfL9AkdGg'
     'WhrLOJYH7OADxJ+nOl5pUM22nSLxcZv2XTApkIkKJ+qzOobgA9OreSnikfLQK/ap4E+Qk99Q/ELp4XyCNmnF59KgUg4O'
     'yYfuWsdE3Z01jLCGaPYVbi2vY7ZsW0GmcVCH8sE0OXTBvcG4QuQuvwuFnLf8BTpMVBM='),
    ('03_matmul',
     'matmul_by_columns',
     'lets sum promote int32 to int64 in each column',
     'sum() widens int32 to int64 unless told otherwise, and the stack keeps that dtype: the '
     "columns need the inputs' dtype.",
     'eNpdjzsOwjAQRHtOMVSxURQRSiRKrkATRdE6sYlDbEf+FAhxd8y3YLp5Wj3NDlLBUDRp7sS1692cjA2MSgi+XyFHK1A1'
     'aMM41gfs4DzEX6cqjLTIpm6fSHzatn0LnvGkg8SJ5iSP3jvPVPE6CrjFtMySfRT8DrLDF4ofHBysi1A6Fvwl9TImbxGd'
     '78cqROovrGGEDUSzLzG1vArJsJpD5X0TtM0T7PmnzFN5WyK/caj5A5OEUKM='),
    ('04_softmax',
     'softmax',
     'normalizes over the wrong axis (always the last)',
     'dim says which axis the probabilities lie along: take the max and the sum along dim, not '
     'along the last axis.',
     'eNpLSU1TKM5PK8lNrNCo0FFIycy11TXUtOJSAIJUBVsFjQoFXYUKvUSQvK6hjkJ2amoBSFFIUWmqpqZeakWBhiZYcVFq'
     'SWlRHlCPvkKqXnFpLqZqAJJQH6U='),
    ('04_softmax',
     'softmax',
     'skips the max-subtraction',
     'exp overflows to inf above about 88 in float32, and inf / inf is NaN: subtracting the max '
     'first keeps every exponent <= 0.',
     'eNpLSU1TKM5PK8lNrNCo0FFIycy11TXUtOJSAIJUBVuFCr3UigINTTC/KLWktCgPKKyvkKpXXJqrAVSto5CdmloA0hZS'
     'VJqqCQCe4Be/'),
    ('04_softmax',
     'softmax',
     'subtracts the largest entry of the whole tensor, not of each slice along dim',
     "A slice far below the tensor's largest entry underflows to 0 / 0, which is NaN: subtract "
     "each slice's own max along dim.",
     'eNpLSU1TKM5PK8lNrNCo0FFIycy11TXUtOJSAIJUBVsFjQoFXYUKvUSQvKamXmpFgYYmWLIotaS0KA+oRl8hVa+4NFcD'
     'qFVHITs1tQBkRkhRaaomAMkFGxs='),
    ('04_softmax',
     'softmax',
     'sums without keepdim, so the division broadcasts along the wrong axis',
     'e.sum(dim) drops the axis, so the division lines the sums up with the wrong axis; '
     'keepdim=True keeps it as size 1.',
     'eNody00KgCAYhOF9p5ilH6TRNvAWXUBogghL/IHv+GmzfZ85eKK8Z41Bjc44rujtKtuEPsLDKCzUhdF7nHGTaag9N4o4'
     'ajLy68za8tNPC+hKi4PLB0w/HFU='),
    ('04_softmax',
     'softmax',
     "subtracts the max in place, changing the caller's x",
     "x -= ... writes into the caller's tensor; x - ... makes a new one and leaves x as it was.",
     'eNpLSU1TKM5PK8lNrNCo0FFIycy11TXUtOJSAIIKBV1bhQq9RJAcUEJHITs1tQCkIqSoNFUTrCRVAaQitaJAA8IvSi0p'
     'LcoDCusrpOoVl+Zi0QcAmCsiSw=='),
    ('04_softmax',
     'log_softmax',
     'takes log(softmax(x)), which is -inf where softmax underflows',
     'Where softmax underflows to 0, its log is -inf; x - logsumexp(x) is finite for every finite '
     'x.',
     'eNptzTEKgDAQRNHeU0y5CxqxFbyFvQiOIhqVaGCPb2LttP/BTJyxn8twn/PjRxMrMa2+qxptC6QRHcRQwdyYe4olNvLK'
     'qg+Rqo52iX468InhgBA16O7of336E30Bz0ElEA=='),
    ('04_softmax',
     'logsumexp',
     'skips the max-subtraction',
     'exp(x) overflows to inf above about 88 in float32; with m the max, m + log(sum(exp(x - m))) '
     'does not.',
     'eNpLSU1TyMlPLy7NTa0o0KjQUUjJzLXVNdS04lIAgqLUktKiPIUKPZCkph5QlQZQXlMPqENDEwBAcBK1'),
    ('04_softmax',
     'logsumexp',
     'keeps the reduced axis',
     'logsumexp removes axis dim, as sum(dim) does: keepdim=True leaves it in as an axis of size '
     '1.',
     'eNpLSU1TyMlPLy7NTa0o0KjQUUjJzLXVNdS04lIAglwFW4UKvcTcxAoNoLiOQnZqagFIQUhRaaomWEVRaklpUR5QobaC'
     'RoWCrkKuph7IIE09oIlY9OgB7dLQBABMIiQU'),
    ('04_softmax',
     'sigmoid',
     'divides exp(x) by 1 + exp(x), which is inf / inf for large x',
     'For x above about 88, exp(x) is inf in float32 and inf / inf is NaN; 1 / (1 + exp(-x)) is '
     'finite there.',
     'eNpLSU1TKM5Mz83PTNGo0LTiUgCCotSS0qI8hQq91IoCDU0FfQUNQwVtGFcTAIpUDm0='),
    ('05_module',
     'get_weights',
     'divides by the last dimension instead of the first',
     'The lesson scales by the first dimension, the number of inputs each output sums over.',
     'eNpLSU1TSE8tiS9PzUzPKCnW0ErJzC3WtOJSAIKi1JLSojyFvDy9gMSixNzUktQijZL8ouQMvaLEvJQ8DbBSBX0FEB2t'
     'axirCQAN7Roj'),
    ('07_training_loop',
     'nll_loss',
     'indexes log_probs[:, targets], an n x n table, and averages all of it',
     'log_probs[:, targets] is every row at every target; the loss needs one entry per row, the '
     "row's own target.",
     'eNpLSU1TyMvJic/JLy7WyMlPjy8oyk8q1lEoSSxKTy0p1rTiUgCCotSS0qI8BV24gmgruJJYvdzUxDwNTQDdfxnk'),
    ('07_training_loop',
     'nll_loss',
     'forgets the minus sign',
     'Log-probabilities are at most 0: the loss is their negative mean, so that it goes down as '
     'the model gets better.',
     'eNo9izEOgDAIAHdfwUgT0wf4FWOaqlgHBAP4f13srXe30wHCXFjdkbWV23T1EaJao/A0DfBhFI8JdD+H2nbmalUaIZPg'
     '36e+LvmiKphe23ojFA=='),
    ('07_training_loop',
     'accuracy',
     'takes the argmax over the wrong axis',
     "Each row holds one example's scores: its prediction is the argmax along dim=1, over the "
     'classes.',
     'eNo9i7sKwCAMAPd+RcYIRToLfknpEDQWwUfRCO3f16W95YbjPAcg50Yj92Adcg3pKwi1k6Urs8CksYxW4Mt6xkw3+pjt'
     'pnaTuOA3HGDtf+uQKgkqnZnKVBTOqF4ADScI'),
    ('08_mnist',
     'normalize',
     'divides by the variance instead of the standard deviation',
     'std is the standard deviation: divide by std itself, not by its square (the variance).',
     'eNpLSU1TyMsvyk3MyaxK1ajQUchNTczTUSguSdG04lIAgqLUktKiPAWNCgVdsJymgj5IVkFLS8EIAGXvEkk='),
    ('08_mnist',
     'predict',
     'drops the last, smaller batch',
     'len(x) is rarely a multiple of batch_size: the rows of the last, smaller batch need '
     'predictions too.',
     'eNpNjr0OgzAMhPc+hcdEpQiqTkg8CUIoTUyIBAlyXDXl6cvfwA0efP7ubLCHmdA4zWIKBscMUgZvxXrooluwLovnS1Y3'
     'WPV1PAAH0kPuQ2dJGXE6mwj5Q/70tWLR7HkiNZEVcbVPuF+yW5krspNKwripLiX0geA4cx5IeYuiyGBEL5KEx4VcY8rr'
     'l7KFFW2O7gUpxA00/JuxPpZj8Fa28g/XQU+S'),
    ('08_mnist',
     'predict',
     'runs the model with gradients on',
     'Prediction needs no gradients: under torch.no_grad() no graph is built, which saves memory '
     'and time.',
     'eNpNjUEKgzAQRfc9xSxnaBAtXQmeRKRMk1EDJinjFEJP32I3/sVbvccPMsNLJURvmEqQzUF18GTz62OPHxm69nan/gK/'
     'qdhbM1hRvzaeDcejwDruxmr9Qbie6oka1iVxxRDT0BHMReGvxQzKeRFsHWySsdL5lib6AuC9NEw='),
)
