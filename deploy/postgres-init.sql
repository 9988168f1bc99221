-- Each project owns its database (docker-compose.yml mounts this into the postgres image).
CREATE DATABASE users;
CREATE DATABASE products;
CREATE DATABASE orders;
CREATE DATABASE gateway;
