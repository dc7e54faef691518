// The start page: the role's page when logged in, else the login.
import { api, auth, homeOf } from "./common.js";

if (!auth()) {
  location.replace("login.html");
} else {
  api("/users/me").then((me) => location.replace(homeOf(me.role)));
}
