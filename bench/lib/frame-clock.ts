// Stamps a wall-clock time (ms) into video frames as big black/white cells and reads it back from a decoded frame.

/**
 * The stamp is a band across the top of the frame: 2 rows of 30 cells, each cell 1/30 of the width and
 * 1/12 of the height, so the grid scales with the frame (a cell is still ~21x30 px at 360p).
 * Cells: white, black (levels), 48 time bits (MSB first), 8 CRC bits, black, white.
 */
export const COLUMNS = 30;
export const ROWS = 2;
const CELLS = COLUMNS * ROWS;
const TIME_BITS = 48;
const CRC_BITS = 8;
const FIRST_DATA_CELL = 2;
const WHITE_CELLS = [0, CELLS - 1];
const BLACK_CELLS = [1, CELLS - 2];
const ROW_FRACTION = 1 / 12;
/** Too little contrast between the level cells means there is no stamp here (or it is destroyed). */
const MIN_CONTRAST = 60;

export interface Rect {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

export function cellRect(index: number, width: number, height: number): Rect {
  const row = Math.floor(index / COLUMNS);
  const column = index % COLUMNS;
  const rowHeight = height * ROW_FRACTION;
  return {
    x0: Math.round((column * width) / COLUMNS),
    x1: Math.round(((column + 1) * width) / COLUMNS),
    y0: Math.round(row * rowHeight),
    y1: Math.round((row + 1) * rowHeight),
  };
}

/** Height in pixels of the stamp band of a frame of this height (what the encoder overlays). */
export function bandHeight(frameHeight: number): number {
  return cellRect(CELLS - 1, 1, frameHeight).y1;
}

/** CRC-8 (polynomial 0x07) over the 6 bytes of the time, so a misread cell is detected, not believed. */
function crc8(bytes: number[]): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

function timeBytes(ms: number): number[] {
  const bytes: number[] = [];
  let rest = Math.trunc(ms);
  for (let i = 0; i < TIME_BITS / 8; i++) {
    bytes.unshift(rest % 256);
    rest = Math.floor(rest / 256);
  }
  return bytes;
}

/** The cell values (true: white) that encode `ms`. */
function cellsOf(ms: number): boolean[] {
  const bytes = timeBytes(ms);
  const bits = [...bytes, crc8(bytes)].flatMap((byte) => Array.from({ length: 8 }, (_, i) => ((byte >> (7 - i)) & 1) === 1));
  const cells = new Array<boolean>(CELLS).fill(false);
  for (const index of WHITE_CELLS) cells[index] = true;
  bits.forEach((bit, i) => (cells[FIRST_DATA_CELL + i] = bit));
  return cells;
}

/** A gray (1 byte per pixel) image of the stamp band, width x bandHeight(frameHeight), encoding `ms`. */
export function stampBand(ms: number, width: number, frameHeight: number): Buffer {
  const band = Buffer.alloc(width * bandHeight(frameHeight));
  cellsOf(ms).forEach((white, index) => {
    if (!white) return;
    const { x0, x1, y0, y1 } = cellRect(index, width, frameHeight);
    for (let y = y0; y < y1; y++) band.fill(255, y * width + x0, y * width + x1);
  });
  return band;
}

/** Mean gray level of the middle half of a cell: its edges blur under scaling and compression. */
function cellLevel(gray: Buffer, width: number, height: number, index: number): number {
  const { x0, x1, y0, y1 } = cellRect(index, width, height);
  const [mx, my] = [(x1 - x0) / 4, (y1 - y0) / 4];
  let sum = 0;
  let count = 0;
  for (let y = Math.round(y0 + my); y < Math.round(y1 - my); y++) {
    for (let x = Math.round(x0 + mx); x < Math.round(x1 - mx); x++) {
      sum += gray[y * width + x]!;
      count++;
    }
  }
  return count === 0 ? 0 : sum / count;
}

/** The time stamped in a whole decoded gray frame (any size), or undefined when it cannot be read or fails its CRC. */
export function readStamp(gray: Buffer, width: number, height: number): number | undefined {
  if (gray.length < width * height) return undefined;
  const levels = Array.from({ length: CELLS }, (_, index) => cellLevel(gray, width, height, index));
  const white = Math.min(...WHITE_CELLS.map((i) => levels[i]!));
  const black = Math.max(...BLACK_CELLS.map((i) => levels[i]!));
  if (white - black < MIN_CONTRAST) return undefined;
  const threshold = (white + black) / 2;
  const bytes: number[] = [];
  for (let byte = 0; byte < (TIME_BITS + CRC_BITS) / 8; byte++) {
    let value = 0;
    for (let bit = 0; bit < 8; bit++) value = (value << 1) | (levels[FIRST_DATA_CELL + byte * 8 + bit]! > threshold ? 1 : 0);
    bytes.push(value);
  }
  const time = bytes.slice(0, TIME_BITS / 8);
  if (crc8(time) !== bytes[TIME_BITS / 8]) return undefined;
  return time.reduce((ms, byte) => ms * 256 + byte, 0);
}
