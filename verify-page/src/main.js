/**
 * Entry point of the bundle: the page's UI, and `window.ipnotary.verify` for programs that drive
 * the page (the tests compare it with the Python verifier case by case).
 *
 * @module main
 */

import { verify } from './api.js';
import { start } from './app.js';
import { STEPS } from './verify.js';

globalThis.ipnotary = Object.freeze({ verify, steps: STEPS });

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => start());
else start();
