"""Exit 0 when every requirement of the given requirements file is installed."""

import sys
from importlib import metadata

from packaging.requirements import Requirement


def missing(path):
    with open(path, encoding="utf-8") as handle:
        lines = handle.readlines()
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            yield line
            continue
        if requirement.specifier and version not in requirement.specifier:
            yield f"{line} (installed {version})"


if __name__ == "__main__":
    absent = list(missing(sys.argv[1]))
    for line in absent:
        print(f"missing: {line}")
    sys.exit(1 if absent else 0)
