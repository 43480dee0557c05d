"""Linux 6.12.118 as shipped in Debian 13: the swap path where it differs from 6.1.176.

A parallel tree mirroring the kernel's layout (``kmodel/v6_12/mm/page_io.py`` holds
6.12's ``swap_read_folio``); everything that did not change between the two kernels
(executors, :class:`~kmodel.kernel.Kernel`, the block layer, trace reading, the testing
machinery) exists once, outside this package. Choose the version with
``Machine(kernel="6.12")`` or ``Kernel(executor, version="6.12")``.
"""

KERNEL_VERSION_6_12 = "6.12.118"
