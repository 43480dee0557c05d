"""The swap I/O state machines, run under the selected Hypothesis profile."""

from kmodel.testing import SwapIOMachine, SyncDiskMachine, VirtioMachine

TestSwapIO = SwapIOMachine.TestCase
TestVirtio = VirtioMachine.TestCase
TestSyncDisk = SyncDiskMachine.TestCase
