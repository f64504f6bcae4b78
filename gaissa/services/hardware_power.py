"""Rated power of accelerators and CPUs, for estimating the energy of an inference from its latency.

Each figure is the manufacturer's maximum rated power of one device: thermal design power (TDP),
total board power (TBP) or total graphics power (TGP), as the source names it. A device under load
usually draws less than its rating, and the host's memory, fans and power supply draw more, so an
energy computed from these figures is an estimate. Only figures published by the manufacturer are
listed, and any other device can be entered in watts.

NOTE: the figures were checked against copies of the named documents, not the manufacturers' current
web pages; recheck a figure there before relying on it for a configurable-TDP part (H100 SXM5).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class HardwarePower:
    key: str
    name: str
    kind: str  # "GPU", "Accelerator" or "CPU"
    watts: float
    rating: str  # what the source calls the figure: "TDP", "TBP", "TGP" or "max power"
    source: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.watts:g} W {self.rating})"


HARDWARE = (
    HardwarePower("nvidia-h100-sxm", "NVIDIA H100 SXM5", "GPU", 700, "TDP",
                  "NVIDIA H100 Tensor Core GPU datasheet: max TDP up to 700 W (configurable)"),
    HardwarePower("nvidia-h100-pcie", "NVIDIA H100 PCIe", "GPU", 350, "TDP",
                  "NVIDIA H100 PCIe GPU product brief PB-11133-001_v02 (2022): maximum TDP 350 W"),
    HardwarePower("nvidia-a100-sxm", "NVIDIA A100 SXM4 (40 or 80 GB)", "GPU", 400, "TDP",
                  "NVIDIA A100 Tensor Core GPU datasheet: max TDP 400 W for SXM4"),
    HardwarePower("nvidia-a100-pcie-80gb", "NVIDIA A100 PCIe 80 GB", "GPU", 300, "TDP",
                  "NVIDIA A100 80GB PCIe GPU product brief PB-10577-001: max power 300 W"),
    HardwarePower("nvidia-a100-pcie-40gb", "NVIDIA A100 PCIe 40 GB", "GPU", 250, "TDP",
                  "NVIDIA A100 40GB PCIe GPU product brief PB-10137-001: max power 250 W"),
    HardwarePower("nvidia-l40s", "NVIDIA L40S", "GPU", 350, "max power",
                  "NVIDIA L40S datasheet: max power consumption 350 W"),
    HardwarePower("nvidia-l4", "NVIDIA L4", "GPU", 72, "TDP",
                  "NVIDIA L4 Tensor Core GPU datasheet: max thermal design power 72 W"),
    HardwarePower("nvidia-t4", "NVIDIA T4", "GPU", 70, "max power",
                  "NVIDIA T4 product brief: 70 W maximum power limit"),
    HardwarePower("nvidia-v100-sxm2", "NVIDIA V100 SXM2", "GPU", 300, "max power",
                  "NVIDIA Tesla V100 datasheet: max power consumption 300 W for SXM2"),
    HardwarePower("nvidia-v100-pcie", "NVIDIA V100 PCIe", "GPU", 250, "max power",
                  "NVIDIA Tesla V100 PCIe product brief PB-08744-001: max power consumption 250 W"),
    HardwarePower("nvidia-rtx-4090", "NVIDIA GeForce RTX 4090", "GPU", 450, "TGP",
                  "NVIDIA GeForce RTX 4090 specifications: total graphics power 450 W"),
    HardwarePower("amd-mi300x", "AMD Instinct MI300X", "Accelerator", 750, "TBP",
                  "AMD Instinct MI300X specifications: total board power 750 W (OAM module)"),
    HardwarePower("amd-epyc-7763", "AMD EPYC 7763 (64 cores)", "CPU", 280, "TDP",
                  "AMD EPYC 7763 specifications: default TDP 280 W"),
    HardwarePower("intel-xeon-platinum-8380", "Intel Xeon Platinum 8380 (40 cores)", "CPU", 270, "TDP",
                  "Intel ARK, Xeon Platinum 8380: TDP 270 W"),
)

_BY_KEY = {hardware.key: hardware for hardware in HARDWARE}
KINDS = ("GPU", "Accelerator", "CPU")


def find(key: str | None) -> HardwarePower | None:
    """Return the table entry with this key, or None."""
    return _BY_KEY.get(key or "")


def grouped() -> list[tuple[str, list[HardwarePower]]]:
    """Return the table grouped by kind, for a select with option groups."""
    return [(kind, [hardware for hardware in HARDWARE if hardware.kind == kind]) for kind in KINDS]
