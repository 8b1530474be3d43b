/** Entry point bundled by app/build.ts into dist/main.js (package.json "main"); loading it registers the functions. */
import './functions';
