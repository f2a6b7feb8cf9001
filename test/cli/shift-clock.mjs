// Preloaded with --import: moves the process's clock by TEST_CLOCK_OFFSET_MS, so a test can run local mode
// "30 days from now" without waiting. Timers are untouched; only what Date reports moves.
const offset = Number(process.env.TEST_CLOCK_OFFSET_MS ?? 0);
const RealDate = Date;
class ShiftedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + offset);
    else super(...args);
  }
  static now() {
    return RealDate.now() + offset;
  }
}
globalThis.Date = ShiftedDate;
