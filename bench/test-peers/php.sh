# The PHP half of run.sh (sourced by it: uses its measure, check_counts, table, say, $work, $W).
# stepkit vs ParaTest 6 on Carbon's PHPUnit suite under Debian's PHPUnit 9.

suite=$("$here/setup-php.sh" "$CACHE/php")

# ParaTest from PARATEST_DIR, copied so the checkout stays untouched, with what composer would
# have installed next to it: our autoload (Debian's PHPUnit and Symfony + two stand-ins) and a
# phpunit launcher that can load ParaTest's worker printer.
pt=$work/paratest
mkdir -p "$pt/vendor/phpunit/phpunit"
cp -r "$PARATEST_DIR/bin" "$PARATEST_DIR/src" "$pt/"
cp "$here/paratest-shim/autoload.php" "$here/paratest-shim/shims.php" "$pt/vendor/"
cp "$here/paratest-shim/phpunit" "$pt/vendor/phpunit/phpunit/phpunit"
PARATEST_VERSION=$(git -C "$PARATEST_DIR" describe --tags 2>/dev/null || basename "$PARATEST_DIR")
export PARATEST_VERSION
paratest_line=$(cd "$suite" && php "$pt/bin/paratest" --version 2>&1 | head -n 1) || {
  echo "ParaTest does not start: $paratest_line" >&2
  exit 1
}

cd "$suite"
say ""
say "## PHP: Carbon $(basename "$suite" | sed 's/^php-nesbot-carbon-//') (Debian source), $(phpunit --version | head -n 1 | sed 's/ by .*//'), $paratest_line"

# Where stepkit pays more than a peer: its listing pass (phpunit --list-tests-xml: one PHPUnit
# start that loads every test class) and one PHPUnit start-up per batch (process, bootstrap,
# config, loading one test file; here the first file of the suite, filtered to nothing).
first_file=$(find tests/Carbon -name '*Test.php' | sort | head -n 1)
measure listing "$work/php-list.log" phpunit --list-tests-xml "$work/php-list.xml"
php_listing=$wall
starts=()
for _ in 1 2 3 4 5; do
  measure start-up "$work/php-start.log" phpunit --filter 'stepkitBenchMatchesNothing' "$first_file"
  starts+=("$wall")
done
php_startup=$(median "${starts[@]}")

echo "  PHP: serial phpunit..." >&2
measure serial "$work/php-serial.log" phpunit --log-junit "$work/php-serial.xml"
((rc <= 1)) || { echo "the serial run failed: nothing to compare against" >&2; exit 1; }
walls[serial]=$wall
baseline=$work/php-serial.xml
check_counts serial "$work/php-serial.xml"
ideal=$(calc "round(${walls[serial]} / $W, 2)")

php_modes=(paratest)
[[ ${PARATEST_WRAPPER:-1} == 1 ]] && php_modes+=(paratest-wrapper)
php_modes+=(stepkit-cold stepkit-warm)
for ((r = 1; r <= RUNS; r++)); do
  for mode in "${php_modes[@]}"; do
    echo "  PHP round $r/$RUNS: $mode (load $(loadavg))..." >&2
    report=$work/php-$mode-$r.xml
    case $mode in
      paratest)
        measure "$mode" "$work/php-$mode.log" php "$pt/bin/paratest" -p "$W" --log-junit "$report" ;;
      paratest-wrapper)
        # Reused processes leak state between files: tests error (exit 2) that pass serially.
        # That is its result, shown as "DIFFERS from serial", not a broken run.
        results_up_to=2
        measure "$mode" "$work/php-$mode.log" php "$pt/bin/paratest" -p "$W" --runner WrapperRunner --log-junit "$report" ;;
      stepkit-cold)
        measure "$mode" "$work/php-$mode-$r.log" "$STEPKIT" test --workers "$W" --timings none --junit "$report" -- phpunit ;;
      stepkit-warm)
        measure "$mode" "$work/php-$mode-$r.log" "$STEPKIT" test --workers "$W" --timings "$work/php-stepkit-cold-$r.xml" --junit "$report" -- phpunit ;;
    esac
    record "$mode" "$report"
    results_up_to=1
  done
done

table "$ideal" serial "${php_modes[@]}"
cold_vs=$(ratio stepkit-cold paratest)
warm_vs=$(ratio stepkit-warm paratest)
say ""
say "- stepkit cold / ParaTest -p $W: **$cold_vs** ($(target "$cold_vs" 1.00) against ≤ 1.00x); stepkit warm / ParaTest: **$warm_vs** ($(target "$warm_vs" 1.00))"
cold_ideal=$(per_ideal stepkit-cold)
say "- stepkit cold / ideal: $cold_ideal ($(target "$cold_ideal" 1.25) against ≤ 1.25x)"
if [[ -n "${walls[paratest-wrapper]:-}" ]]; then
  say "- stepkit warm / ParaTest WrapperRunner: $(ratio stepkit-warm paratest-wrapper)"
fi
say "- where the time goes: listing (\`phpunit --list-tests-xml\`) ${php_listing}s before any test runs; one PHPUnit start-up (one file, no test) ${php_startup}s;"
say "  $(startup_share php "$php_startup")"
say "  (ParaTest's default runner starts $(find tests -name '*Test.php' | wc -l) processes, one per test file)"
cd "$root"
