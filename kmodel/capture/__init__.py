"""Real-kernel swap trace capture: boot Debian's Linux 6.1 in QEMU, trace, check, save.

``kmodel capture`` (see :mod:`kmodel.capture.cli`) prepares the kernel in a cache, builds an
initramfs with busybox, the modules and the ``memhog`` workload, runs the scenarios of
:mod:`kmodel.capture.scenarios` in one QEMU boot and asserts each one's kernel-side outcome.
"""
