<?php
// Stand-ins for the two composer packages ParaTest 6 uses that Debian does not ship. ParaTest calls
// each in one place: PrettyVersions for its --version line, CpuCoreCounter for `-p auto`.
namespace Jean85 {
    final class PrettyVersions
    {
        public static function getVersion(string $package): PrettyVersion
        {
            // run.sh sets PARATEST_VERSION from the checkout (git describe or the directory name).
            return new PrettyVersion(getenv('PARATEST_VERSION') ?: 'unknown');
        }
    }

    final class PrettyVersion
    {
        /** @var string */
        private $version;

        public function __construct(string $version)
        {
            $this->version = $version;
        }

        public function getPrettyVersion(): string
        {
            return $this->version;
        }
    }
}

namespace Fidry\CpuCoreCounter {
    final class NumberOfCpuCoreNotFound extends \RuntimeException
    {
    }

    final class CpuCoreCounter
    {
        public function getCount(): int
        {
            $count = (int) shell_exec('nproc 2>/dev/null');
            if ($count < 1) {
                throw new NumberOfCpuCoreNotFound('nproc gave no CPU count');
            }
            return $count;
        }
    }
}
