def test_home_page(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"GAISSALabel" in response.data


def test_csrf_rejects_post_without_token(client):
    response = client.post("/auth/login", data={"email": "a@example.org", "password": "x"})
    assert response.status_code == 400
    assert b"Reload the page" in response.data


def test_manager_login_reaches_admin(client, auth):
    response = auth.login()
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
