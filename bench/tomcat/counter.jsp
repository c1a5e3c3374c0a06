<%@ page session="true" contentType="application/json; charset=UTF-8" trimDirectiveWhitespaces="true" %><%
    // Same work as Micro Tomcat's counter app: read "count" from the session,
    // increment, store it back, print a small JSON document.
    Integer count = (Integer) session.getAttribute("count");
    int next = (count == null ? 0 : count.intValue()) + 1;
    session.setAttribute("count", Integer.valueOf(next));
    out.print("{\"count\":" + next + ",\"session\":\"" + session.getId() + "\",\"node\":\"tomcat\",\"new\":" + session.isNew() + "}");
%>
