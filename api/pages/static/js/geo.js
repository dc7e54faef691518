// Coordinates for display. Positions are stored as the terminals send them (WGS-84); tiles of Chinese map
// services are drawn in GCJ-02, so a map on such tiles shifts what it draws (never what it stores or sends).
// The formula is domain/datum.py's (its reference; tests/api/pages/test_coordinates.py checks that both agree).
// Tianditu's CGCS2000 tiles are drawn on as they are: within a metre of WGS-84, below a terminal's own error.

const A = 6378245.0;
const EE = 0.00669342162296594323;

function outOfChina(lat, lon) {
  return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

function shiftLat(x, y) {
  let r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  r += ((20 * Math.sin(y * Math.PI) + 40 * Math.sin((y / 3) * Math.PI)) * 2) / 3;
  r += ((160 * Math.sin((y / 12) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30)) * 2) / 3;
  return r;
}

function shiftLon(x, y) {
  let r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  r += ((20 * Math.sin(x * Math.PI) + 40 * Math.sin((x / 3) * Math.PI)) * 2) / 3;
  r += ((150 * Math.sin((x / 12) * Math.PI) + 300 * Math.sin((x / 30) * Math.PI)) * 2) / 3;
  return r;
}

/** WGS-84 to GCJ-02 (the published "mars coordinates" formula); outside China nothing changes. */
export function wgs84ToGcj02(lat, lon) {
  if (outOfChina(lat, lon)) return [lat, lon];
  const radLat = (lat / 180) * Math.PI;
  const sin = Math.sin(radLat);
  const magic = 1 - EE * sin * sin;
  const root = Math.sqrt(magic);
  const dLat = (shiftLat(lon - 105, lat - 35) * 180) / (((A * (1 - EE)) / (magic * root)) * Math.PI);
  const dLon = (shiftLon(lon - 105, lat - 35) * 180) / ((A / root) * Math.cos(radLat) * Math.PI);
  return [lat + dLat, lon + dLon];
}

/** The coordinate system the map draws in: its tiles' (YIWANG_PAGES_TILE_COORDINATES); WGS-84 without tiles. */
export function drawnIn(settings) {
  return settings.tile_url ? settings.tile_coordinates : "wgs84";
}

/** The display function of the pages' settings: the GCJ-02 shift for GCJ-02 tiles, identity otherwise. */
export function displayOf(settings) {
  return drawnIn(settings) === "gcj02" ? wgs84ToGcj02 : (lat, lon) => [lat, lon];
}
